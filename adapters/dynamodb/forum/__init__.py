"""The forum ports on DynamoDB: threads, events, follows, read markers, subscriptions.

Item kinds in the forum table (partition key `PK`, sort key `time`, the AlgoREA data model's
schema; attribute names follow it: `type`, `user_id`, a message's text as `content`), and the
module of this package that stores each:

    THREADEV#{participant}#{item}          time = the event's cursor   one item per event       events
    THREADSEQ#{participant}#{item}         time = 0                    `last_time`: the newest  unit_of_work
                                                                       event's time
    THREADMSG#{participant}#{item}#{uuid}  time = 0                    a copy of the message,   events
                                                                       `seq` = its time
    THREAD#{participant}#{item}            time = 0                    thread state, listed     threads
                                                                       through two GSIs
    THREADFOLLOW#{participant}#{item}      time = user id              `expires_at` (ms) and    follows
                                                                       `ttl` (s)
    THREADREAD#{participant}#{item}        time = user id              read marker              follows
    THREADSUB#{participant}#{item}         time = connection digest    `connection_id`,         subscriptions
                                                                       `user_id`, `ttl` (s)

The keys are in `table`, the event order and the commit in `unit_of_work`. Writes are buffered
and sent as one TransactWriteItems at commit; reads in the unit of work see the unit's own writes.
See docs/access-patterns.md for the request each operation costs.
"""

from adapters.dynamodb.forum.subscriptions import DynamoDbSubscriptionStore
from adapters.dynamodb.forum.table import DynamoDbForum
from adapters.dynamodb.forum.unit_of_work import DynamoDbForumUnitOfWork

__all__ = ["DynamoDbForum", "DynamoDbForumUnitOfWork", "DynamoDbSubscriptionStore"]
