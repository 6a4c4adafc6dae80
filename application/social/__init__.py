"""Use cases of the social context (issue 17): profiles, follows, posts, likes, timelines."""
