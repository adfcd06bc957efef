"""Services: the only code that changes tickets and the directory of queues and agents."""
