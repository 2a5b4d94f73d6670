"""The model registry's HTTP side: uploads checked into versions (`uploads`) and the model and
version bodies (`views`)."""
