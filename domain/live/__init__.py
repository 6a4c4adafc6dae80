"""The live-questions context (PyLiveQuestions): rooms owned by a teacher, a question bank, the
question picked in a room, attempts, and each participant's result once the feedback is released."""
