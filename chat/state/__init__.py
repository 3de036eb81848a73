"""Chat state backends: one interface (`base.ChatState`), an in-process implementation."""
