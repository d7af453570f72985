"""Order Service: orders, their lines and the state machine the saga's events drive."""
