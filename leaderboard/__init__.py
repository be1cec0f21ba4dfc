"""What the runs add up to over time: the results store, rankings and the static leaderboard site."""
