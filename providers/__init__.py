"""Gateway adapters: one async interface, typed results, a typed error tree.

Adapters know HTTP and the wire format, nothing of Telegram or storage.
"""
