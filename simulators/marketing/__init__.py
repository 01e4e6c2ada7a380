"""A stand-in for SAP Marketing Cloud's generic SMS adapter: it sends packages through CPI's send
route and pulls bounces from CPI's status route the way Marketing does, checks every answer
against the contracts, and reconciles what it was served with a provider's ground truth.

Modules: ``windows`` (time windows, pure), ``walk`` (the page walk of one window: the one every
reader uses, ``verify`` and the tests included), ``checks`` (the paging rules, pure, also
``verify``'s), ``interactions`` (bounce → interaction, pure), ``client`` (the send route),
``poller`` (the status route), ``reconcile`` (ground truth vs. served, pure), ``__main__``
(``smsbounce marketing``).
"""
