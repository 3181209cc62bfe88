"""Intake: the three source kinds, their validation, filing, linking and attachments."""
