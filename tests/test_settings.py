"""aiopyramid's ini settings: defaults, parsing and clear errors."""

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from aiopyramid.settings import AiopyramidSettings, settings_from


def test_defaults():
    settings = AiopyramidSettings.parse({})
    assert settings.max_body_size == 10 * 1024 * 1024
    assert settings.websocket_max_message_size == 1024 * 1024
    assert settings.websocket_allowed_origins == frozenset()


def test_values_from_the_ini():
    settings = AiopyramidSettings.parse(
        {
            "aiopyramid.max_body_size": " 2048 ",
            "aiopyramid.websocket.max_message_size": "512",
            "aiopyramid.websocket.allowed_origins": "https://a.example/\n  https://b.example",
        }
    )
    assert settings.max_body_size == 2048
    assert settings.websocket_max_message_size == 512
    assert settings.websocket_allowed_origins == {"https://a.example", "https://b.example"}


def test_origins_as_a_list():
    settings = AiopyramidSettings.parse({"aiopyramid.websocket.allowed_origins": ["*"]})
    assert settings.websocket_allowed_origins == {"*"}


@pytest.mark.parametrize("bad", ["ten", "-1", "0", "1.5", "1e6"])
def test_bad_sizes_stop_the_application_at_startup(bad):
    with pytest.raises(ConfigurationError, match=r"aiopyramid.max_body_size must be a whole"):
        Configurator(settings={"aiopyramid.max_body_size": bad}).include("aiopyramid")


def test_settings_from_a_registry_without_includeme():
    config = Configurator(settings={"aiopyramid.max_body_size": "5"})
    assert settings_from(config.registry).max_body_size == 5
    assert settings_from(object()) == AiopyramidSettings()
