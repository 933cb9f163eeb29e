"""`python -m botstore ...`"""

from botstore.cli import main

raise SystemExit(main())
