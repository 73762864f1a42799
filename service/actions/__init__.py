"""The only code that both changes state and emits events .

Every emit happens after the change it announces is committed: a crash in between loses no
acknowledged data, and clients catch up with ``history`` when they reconnect.
"""
