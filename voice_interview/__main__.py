import sys

from voice_interview.cli import main

sys.exit(main())
