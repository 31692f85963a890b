"""Pure graph core: task spec, tokenize, graph algorithms, ordering, fusion."""
