"""The `dangqun` console command: Django's manage.py with our settings.

`dangqun seed`, `dangqun audit verify`, `dangqun migrate`, `dangqun runserver` ...
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dangqun.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
