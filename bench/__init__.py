"""`make bench`: cold start, AWS calls, scale, memory, size and cost of Quota Sentinel, measured side by side."""
