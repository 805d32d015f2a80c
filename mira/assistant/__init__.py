"""What the assistant does with words: wake word, commands, action extraction.

Pure code over text and times (no Flask, no database); the LLM client sits behind the same
shapes as the offline rules, so the services can use either.
"""
