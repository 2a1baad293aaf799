"""The web console for staff (issue 18): server-rendered pages over the same flows as the API.

- `security.py`: the middleware every /console response goes through (CSP and the other headers,
  same-origin POSTs only, off when TICKETBOOTH_CONSOLE_ENABLED is false);
- `context.py`: who is asking (`Visit`, `StaffContext` with the staff member, role, tenant and a `Caller`
  for the flows), the CSRF-checked form, `require_recent_auth`;
- `pages.py`: templates, the nav, the route class that turns errors into pages;
- `auth.py`: enrolment, sign-in, sign-out, re-authentication, the home page, the staff member's sessions.
"""
