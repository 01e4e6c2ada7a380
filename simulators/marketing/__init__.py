"""A stand-in for SAP Marketing Cloud's generic SMS adapter: it sends packages through CPI's send
route and pulls bounces from CPI's status route the way Marketing does, checks every answer
against the contracts, and reconciles what it was served with a provider's ground truth.

Modules: ``windows`` (time windows, pure), ``checks`` (page invariants, pure), ``interactions``
(bounce → interaction, pure), ``client`` (the send route), ``poller`` (the status route),
``reconcile`` (ground truth vs. served, pure), ``__main__`` (``smsbounce marketing``).
"""
