"""What runs inside a worker process: the model cache, frame building and scoring."""
