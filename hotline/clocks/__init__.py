"""Clocks: durations, working days, time limits and the timers of tickets."""
