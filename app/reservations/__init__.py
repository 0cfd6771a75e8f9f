"""Holds (short claims on space) and bookings (confirmed holds with cargo and parties)."""
