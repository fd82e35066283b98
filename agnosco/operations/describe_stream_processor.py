"""DescribeStreamProcessor: a processor's definition, status and StatusMessage."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, cast

from agnosco.operations.context import OperationContext
from agnosco.operations.stream_processors import describe, require_processor

if TYPE_CHECKING:  # the API's shapes, generated from botocore's model
    from types_boto3_rekognition.literals import StreamProcessorStatusType
    from types_boto3_rekognition.type_defs import (
        DescribeStreamProcessorRequestTypeDef,
        RegionOfInterestOutputTypeDef,
        StreamProcessorDataSharingPreferenceTypeDef,
        StreamProcessorInputTypeDef,
        StreamProcessorNotificationChannelTypeDef,
        StreamProcessorOutputTypeDef,
        StreamProcessorSettingsOutputTypeDef,
    )


class DescribeStreamProcessorResponse(TypedDict, total=False):
    Name: str
    StreamProcessorArn: str
    Status: StreamProcessorStatusType
    StatusMessage: str
    CreationTimestamp: datetime
    LastUpdateTimestamp: datetime
    Input: StreamProcessorInputTypeDef
    Output: StreamProcessorOutputTypeDef
    RoleArn: str
    Settings: StreamProcessorSettingsOutputTypeDef
    NotificationChannel: StreamProcessorNotificationChannelTypeDef
    KmsKeyId: str
    RegionsOfInterest: list[RegionOfInterestOutputTypeDef]
    DataSharingPreference: StreamProcessorDataSharingPreferenceTypeDef


def describe_stream_processor(
    request: DescribeStreamProcessorRequestTypeDef, context: OperationContext
) -> DescribeStreamProcessorResponse:
    """:raises ResourceNotFoundException: no such processor."""
    processor = require_processor(request["Name"], context)
    return cast("DescribeStreamProcessorResponse", describe(processor))
