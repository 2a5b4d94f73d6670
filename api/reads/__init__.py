"""Reading jobs back: the job object (`jobs`, with long-polling through one `watch`er per
process), scored rows and errors in the format asked for (`results`, `file_results`)."""
