"""Administration: the people (users), the organisation (the unit tree) and their bulk import.

Views call these services; who may do what is decided in hotline.permissions.
"""
