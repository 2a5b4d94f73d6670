"""Taking jobs in. The way in is `accept.accept_job` (the route and the JSON `lane` call it):
it admits the request (`api.admission`), then hands a JSON body to `json_job` (rows, or
`input_uri` through `uri_job`) and a file or a form to `upload` (`file_job` streams it into
chunks). `idempotency` and `upload_idempotency` make a resent submission answer its first job."""
