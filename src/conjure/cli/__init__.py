"""doit glue: commands, the task adapter and the session. Registered as doit plugins."""
