"""The HTTP API (aiohttp): the same services as the bot's handlers, for monitoring and
scripts. Like ``handlers``, it imports ``services`` only."""
