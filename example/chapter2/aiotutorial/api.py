"""The game's JSON API. Its first view lists the chat channels, from the database."""

from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import select

from aiotutorial.models import Channel


@view_config(route_name="channels", request_method="GET", renderer="json")
async def list_channels(request: Request) -> dict[str, list[dict[str, str]]]:
    """The channels, by name."""
    names = await request.dbsession.scalars(select(Channel.name).order_by(Channel.name))
    return {"channels": [{"name": name} for name in names]}
