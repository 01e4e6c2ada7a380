"""smsbounce buffer: receives provider delivery reports, serves bounces to SAP Marketing Cloud."""
