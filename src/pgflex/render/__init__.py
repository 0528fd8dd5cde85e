"""Views of results for people (tables) and machines (JSON), from data only."""
