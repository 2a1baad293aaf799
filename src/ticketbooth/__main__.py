from ticketbooth.cli import main

raise SystemExit(main())
