"""Pure functions over mail: parsing, addresses and tokens, loops, quotes, composing."""
