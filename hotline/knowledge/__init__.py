"""The knowledge base (知识库): articles seats answer callers from, searched as they type."""
