"""gradproof reports: the command line (``reports.cli``) and ``gradproof report``, which rebuilds
every derivation report, figure and quoted number deterministically (``reports.build``)."""
