"""Tickets (工单): the model, the lifecycle machine, the actions and their audit log."""
