"""Infrastructure every service uses; knows no business rules."""
