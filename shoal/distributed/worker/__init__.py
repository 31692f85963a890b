"""Worker side: the pure task state machine, the IO server, spill buffer and nanny."""
