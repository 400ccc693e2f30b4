"""Files attached to any record (built-in or a workspace's own), to tickets and to their replies."""
