"""Push delivery of events to subscribed applications (issue 17): see service.py and delivery.py."""
