"""The chat ports on DynamoDB, in the ChatSystem reference's table shape (`PK` / `SK`, GSI
`RoomID_Comment_IDX` on (RoomID, CreatedAt)). Item kinds:

    PK = Room:<RoomID>   SK = meta                 CreatedBy, DisplayName, CreatedAt, Incarnation
                                                   (no RoomID: it stays out of the comments' GSI)
    PK = Room:<RoomID>   SK = Member:<UserID, 19 digits>   UserID, JoinedAt, Incarnation
    PK = <UserID>        SK = Join:<RoomID>        RoomID, JoinedAt, Incarnation   (the reference's join)
    PK = User:<UserID>   SK = <position>           RoomID, Comment, CreatedAt = <position>, Incarnation
    PK = Room:<RoomID>   SK = Comment:<position>   UserID: the room's claim on the position

A position is the comment's RFC 3339 millisecond with a tiebreak (domain/chat/model.py), so the
reference's ISO-8601 sort keys stay, and string order is comment order. Comments never overwrite
each other: the comment and its room's claim are conditional puts (`attribute_not_exists`) in one
TransactWriteItems with condition checks that the room (this incarnation of it) and the author's
membership still exist; a taken position cancels it, and the use case tries the next one.

`Incarnation` tells a room from an earlier room of the same id. Deleting a room deletes its meta
item in a transaction (conditional on the creator), then removes its memberships and comments in
batches; should that clean-up be cut short, what is left belongs to an incarnation that no longer
exists, and reads of the room skip it. Writes are buffered and sent as one TransactWriteItems at
commit (adapters/dynamodb/transaction.py); docs/access-patterns.md lists the requests of every pattern.
"""

from adapters.dynamodb.chat.stores import DynamoDbChatUnitOfWork
from adapters.dynamodb.chat.table import DynamoDbChat

__all__ = ["DynamoDbChat", "DynamoDbChatUnitOfWork"]
