"""A plugin module whose import fails."""

raise RuntimeError("this plugin cannot be imported\nsecond line of the message")
