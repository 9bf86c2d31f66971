"""Use cases shared by the bot and the command line: send, balance, status, tracking.

Nothing here knows Telegram; the bot and the command line call in, never the reverse.
"""
