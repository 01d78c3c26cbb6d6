using System.Collections;
using System.Reflection;
using Google.Protobuf;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// Writes a graph attribute (a <c>Scan</c>'s body) on a node of ML.NET's ONNX converter — the one place the package
/// reaches into the converter. ML.NET's <c>OnnxNode.AddAttribute</c> takes numbers, strings and types, never a graph,
/// but the converter's node (<c>OnnxNodeImpl</c>, in Microsoft.ML.OnnxConverter) keeps the protobuf message it writes,
/// a <c>NodeProto</c>, in its private field <c>_node</c>; the attribute is merged into that message from the bytes of a
/// NodeProto holding only the attribute (protobuf appends a repeated field on merge). If the converter ever changes
/// shape — no such field, not a NodeProto, the attribute not added — conversion fails here naming what was found,
/// rather than writing a model without the body.
/// </summary>
internal static class ConverterGraphAttribute
{
    private const string NodeField = "_node";

    /// <summary>Adds <paramref name="attribute"/> (an AttributeProto) to the NodeProto behind <paramref name="node"/>.</summary>
    public static void Add(object node, ProtobufWriter attribute)
    {
        var field = node.GetType().GetField(NodeField, BindingFlags.NonPublic | BindingFlags.Instance);
        if (field?.GetValue(node) is not IMessage message || message.Descriptor.Name != "NodeProto"
            || message.Descriptor.FindFieldByName("attribute") is not { IsRepeated: true } attributes
            || attributes.Accessor.GetValue(message) is not IList list)
        {
            throw new NotSupportedException($"ML.NET's ONNX converter has changed shape: its node {node.GetType().FullName} holds no NodeProto " +
                $"message in a field '{NodeField}' ({(field is null ? "no such field" : $"found {field.FieldType.FullName}")}), so a Scan's " +
                "body (a graph attribute) cannot be written. Convert with the version of Microsoft.ML.OnnxConverter the package documents.");
        }
        int before = list.Count;
        message.MergeFrom(new ProtobufWriter().Message(5, attribute).ToArray());
        if (list.Count != before + 1)
            throw new NotSupportedException($"ML.NET's ONNX converter has changed shape: merging a graph attribute into its NodeProto added {list.Count - before} attributes, not 1.");
    }
}
