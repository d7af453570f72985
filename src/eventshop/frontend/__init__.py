"""The Shop Frontend: a server-rendered web app over the services' APIs."""
