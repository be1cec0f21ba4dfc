"""What the measurements mean: scorecards, Markdown and HTML reports, run comparison."""
