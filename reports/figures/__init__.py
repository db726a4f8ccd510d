"""The report's figures: one module per figure, each with ``ID``, ``TITLE``, ``REQUIRES``
(modules it needs) and ``build(ctx) -> ItemResult``. The order here is the report's order."""

from gradproof.reports.figures import (horizon, lstm_forget_bias, lstm_missing_path, lstm_terms, phase,
                             rnn_bound, sweep_phase, underflow_vs_vanishing)

FIGURES = (rnn_bound, underflow_vs_vanishing, lstm_forget_bias, lstm_terms, lstm_missing_path,
           horizon, phase, sweep_phase)

__all__ = ["FIGURES"]
