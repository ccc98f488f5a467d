"""template.yaml resolution: parameters, conditions, intrinsics, Globals, and clear errors."""

from __future__ import annotations

import pytest

from local.template import Template, TemplateError

FUNCTION_WITH_GLOBALS = """
Globals:
  Function:
    Timeout: 10
    Layers: [arn:aws:lambda:us-east-1:1:layer:global:1]
    Environment:
      Variables: {SHARED: global, OVERRIDDEN: global}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 20
      Layers: [arn:aws:lambda:us-east-1:1:layer:own:1]
      Environment:
        Variables: {OVERRIDDEN: own, OWN: own}
"""


def test_parameters_take_defaults_and_overrides_as_cloudformation_strings(write_template):
    path = write_template("""
Parameters:
  Name: {Type: String, Default: a}
  Count: {Type: Number, Default: 3}
  Flag: {Type: String, Default: 'false'}
  Items: {Type: CommaDelimitedList, Default: 'x,y'}
Resources: {}
""")
    template = Template(path, parameters={"Name": "b", "Flag": True})
    assert template.parameters == {"Name": "b", "Count": "3", "Flag": "true", "Items": ["x", "y"]}


@pytest.mark.parametrize("parameters, message", [
    ({"Unknown": "x"}, "no parameter named Unknown"),
    ({"Count": "many"}, "Parameters.Count: 'many' is not a Number"),
    ({"Stage": "qa"}, "Parameters.Stage: 'qa' is not one of AllowedValues"),
])
def test_parameter_values_cloudformation_would_reject_fail(write_template, parameters, message):
    path = write_template("""
Parameters:
  Count: {Type: Number, Default: 3}
  Stage: {Type: String, Default: test, AllowedValues: [test, prod]}
Resources: {}
""")
    with pytest.raises(TemplateError, match=message):
        Template(path, parameters=parameters)


def test_conditions_if_and_no_value(write_template):
    path = write_template("""
Parameters:
  Stage: {Type: String, Default: prod}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsTest: !Not [!Condition IsProd]
  Either: !Or [!Condition IsProd, !Condition IsTest]
Resources:
  Thing:
    Type: AWS::SQS::Queue
    Properties:
      Chosen: !If [IsProd, big, small]
      Dropped: !If [IsTest, x, !Ref AWS::NoValue]
      List: [a, !If [IsTest, b, !Ref AWS::NoValue], c]
  OnlyInTest:
    Type: AWS::SQS::Queue
    Condition: IsTest
""")
    template = Template(path)
    assert template.condition("Either", "test") is True
    assert template.prop("Thing", "Chosen") == "big"
    assert template.prop("Thing", "Dropped", default="absent") == "absent"
    assert template.prop("Thing", "List") == ["a", "c"]
    assert list(template.resources("AWS::SQS::Queue")) == ["Thing"]


def test_sub_join_select_split_find_in_map_and_pseudo_parameters(write_template):
    path = write_template("""
Parameters:
  Env: {Type: String, Default: dev}
Mappings:
  Sizes: {dev: {memory: 256}}
Resources:
  Thing:
    Type: AWS::SQS::Queue
    Properties:
      Sub: !Sub '${AWS::StackName}-${Env}-${AWS::Region}-${AWS::AccountId}-${!Literal}'
      SubWithVariables: !Sub ['${Prefix}/${Env}', {Prefix: !Join ['-', [a, b]]}]
      Select: !Select [1, !Split [',', 'x,y,z']]
      Memory: !FindInMap [Sizes, !Ref Env, memory]
      Json: !ToJsonString {a: [1, 2]}
""")
    template = Template(path, stack_name="stack")
    assert template.prop("Thing", "Sub") == "stack-dev-us-east-1-123456789012-${Literal}"
    assert template.prop("Thing", "SubWithVariables") == "a-b/dev"
    assert template.prop("Thing", "Select") == "y"
    assert template.prop("Thing", "Memory") == 256
    assert template.prop("Thing", "Json") == '{"a":[1,2]}'


def test_globals_merge_maps_concatenate_lists_and_let_the_function_win_on_scalars(write_template):
    template = Template(write_template(FUNCTION_WITH_GLOBALS))
    assert template.prop("Fn", "Timeout") == 20
    assert template.prop("Fn", "Layers") == ["arn:aws:lambda:us-east-1:1:layer:global:1",
                                             "arn:aws:lambda:us-east-1:1:layer:own:1"]
    assert template.prop("Fn", "Environment", "Variables") == {"SHARED": "global", "OVERRIDDEN": "own", "OWN": "own"}


def test_registered_resources_resolve_ref_getatt_and_sub(write_template):
    path = write_template("""
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          URL: !Ref Queue
          ARN: !GetAtt Queue.Arn
          NAME: !Sub '${Queue.QueueName}'
""")
    template = Template(path)
    assert template.dependencies("Fn") == {"Queue"}
    template.register("Queue", "http://q", Arn="arn:q", QueueName="q")
    assert template.prop("Fn", "Environment", "Variables") == {"URL": "http://q", "ARN": "arn:q", "NAME": "q"}


@pytest.mark.parametrize("value, message", [
    ("!Ref MappingTable", r": Ref MappingTable: no such parameter or resource"),
    ("!GetAtt Topic.Arn", r"GetAtt Topic\.Arn: AWS::SNS::Topic is not emulated locally"),
    ("!GetAtt Queue.Nope", r"GetAtt Queue\.Nope: AWS::SQS::Queue has no attribute 'Nope' locally"),
    ("!Ref Skipped", r"Ref Skipped: not created, its condition Never is false"),
    ("!ImportValue shared-vpc", r"Fn::ImportValue is not supported"),
    ("!Sub '${Missing}'", r"Ref Missing: no such parameter or resource"),
])
def test_unresolvable_references_fail_naming_the_property(write_template, value, message):
    path = write_template(f"""
Conditions:
  Never: !Equals [a, b]
Resources:
  Queue: {{Type: AWS::SQS::Queue}}
  Topic: {{Type: AWS::SNS::Topic}}
  Skipped: {{Type: AWS::SQS::Queue, Condition: Never}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          X: {value}
""")
    template = Template(path)
    template.register("Queue", "http://q", Arn="arn:q")
    with pytest.raises(TemplateError, match=r"Resources\.Fn\.Properties\.Environment\.Variables\.X.*" + message):
        template.prop("Fn", "Environment", "Variables")
