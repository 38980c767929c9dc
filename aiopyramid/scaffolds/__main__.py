"""``python -m aiopyramid.scaffolds``: the same as the ``aiopyramid-init`` command."""

import sys

from aiopyramid.scaffolds import main

sys.exit(main())
