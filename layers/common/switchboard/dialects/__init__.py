"""Wire dialects: envelopes, error shapes, key spelling, time formats and paging per API family.

Domain code never knows which dialect called it; a dialect turns requests into domain calls'
inputs and domain results or errors into its own replies.
"""
