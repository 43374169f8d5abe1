"""Label-bearing audio models: predicted tags for sounds that carry no words of their own."""
