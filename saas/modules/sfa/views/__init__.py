"""SFA pages under /t/<slug>/: importing each file attaches its routes to ``blueprints.pages``."""
